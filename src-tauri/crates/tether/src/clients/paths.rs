//! Where each MCP client keeps its config, on each OS.
//!
//! Owns the [`Platform`] (the OS, the home directory, the few environment
//! variables that move config directories, and the one look at the disk that
//! matters: which Windows MSIX packages of Claude exist) and the pure
//! functions that turn it into paths. Nothing here depends on the OS Tether
//! was built for, so the macOS and Windows cases are unit-tested on Linux.
//! Paths follow the research notes (landscape §2): Claude Desktop's MSIX
//! install reads from its package's `LocalCache`, not `%APPDATA%`, so that is
//! where an entry goes when the package exists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::McpClient;

/// The package family of Claude Desktop's MSIX install on Windows.
pub const CLAUDE_MSIX_FAMILY: &str = "Claude_pzs8sxrjxfjjc";

/// The environment variables that move a client's config directory.
const ENV_VARS: &[&str] = &["APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR"];

/// An operating system, as far as config paths go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    MacOs,
    Windows,
    Linux,
}

impl Os {
    /// The OS this program runs on (the BSDs count as Linux: XDG paths).
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// Everything config paths depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: Os,
    pub home: PathBuf,
    env: BTreeMap<String, String>,
}

impl Platform {
    /// This OS and its environment, with `home` as the home directory. When
    /// `home` is not the user's own home (a test's or a development build's
    /// temporary one), the environment's `APPDATA`, `LOCALAPPDATA`,
    /// `XDG_CONFIG_HOME` and `CLAUDE_CONFIG_DIR` are ignored, so that every
    /// path is under `home` and a user's real configs are never touched.
    pub fn current(home: &Path) -> Platform {
        let real_home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        let own_home = real_home.is_some_and(|h| same_dir(&h, home));
        let env: Vec<(String, String)> = if own_home {
            ENV_VARS
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
                .collect()
        } else {
            Vec::new()
        };
        Platform::new(Os::current(), home.to_path_buf(), env)
    }

    /// A platform described in full (for tests of other OSes). Only the
    /// variables that matter are kept; empty values count as unset.
    pub fn new(os: Os, home: PathBuf, env: impl IntoIterator<Item = (String, String)>) -> Platform {
        let env = env
            .into_iter()
            .filter(|(k, v)| ENV_VARS.contains(&k.as_str()) && !v.is_empty())
            .collect();
        Platform { os, home, env }
    }

    /// A variable that matters, when set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// `%APPDATA%` (Windows), else its usual place under the home.
    pub fn appdata(&self) -> PathBuf {
        self.var("APPDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home.join("AppData").join("Roaming"))
    }

    /// `%LOCALAPPDATA%` (Windows), else its usual place under the home.
    pub fn local_appdata(&self) -> PathBuf {
        self.var("LOCALAPPDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home.join("AppData").join("Local"))
    }

    /// `$XDG_CONFIG_HOME` when set to an absolute path, else `~/.config`.
    pub fn xdg_config(&self) -> PathBuf {
        self.var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() || p.to_string_lossy().starts_with('/'))
            .unwrap_or_else(|| self.home.join(".config"))
    }

    /// `%LOCALAPPDATA%\Packages`, where MSIX apps keep their files.
    pub fn msix_packages_dir(&self) -> PathBuf {
        self.local_appdata().join("Packages")
    }

    /// The Claude MSIX package directories that exist (Windows only).
    pub fn claude_msix_packages(&self) -> Vec<String> {
        if self.os != Os::Windows {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(self.msix_packages_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("Claude_"))
            .collect();
        names.sort();
        names
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// The MSIX package to use among those found: Claude's own family first.
pub fn pick_msix_package(packages: &[String]) -> Option<&str> {
    packages
        .iter()
        .find(|p| p.as_str() == CLAUDE_MSIX_FAMILY)
        .or_else(|| packages.iter().find(|p| p.starts_with("Claude_")))
        .map(String::as_str)
}

/// Claude Desktop's config directory, given the MSIX packages that exist
/// (Windows): the package's `LocalCache\Roaming\Claude` when there is one,
/// since the packaged app never reads `%APPDATA%\Claude`.
pub fn claude_desktop_dir(p: &Platform, msix_packages: &[String]) -> PathBuf {
    match p.os {
        Os::MacOs => p.home.join("Library").join("Application Support").join("Claude"),
        Os::Windows => match pick_msix_package(msix_packages) {
            Some(pkg) => p
                .msix_packages_dir()
                .join(pkg)
                .join("LocalCache")
                .join("Roaming")
                .join("Claude"),
            None => p.appdata().join("Claude"),
        },
        Os::Linux => p.xdg_config().join("Claude"),
    }
}

/// VS Code's user directory (`…/Code/User`).
pub fn vscode_user_dir(p: &Platform) -> PathBuf {
    match p.os {
        Os::MacOs => p
            .home
            .join("Library")
            .join("Application Support")
            .join("Code")
            .join("User"),
        Os::Windows => p.appdata().join("Code").join("User"),
        Os::Linux => p.xdg_config().join("Code").join("User"),
    }
}

/// Cline's directory inside VS Code's global storage.
pub fn cline_dir(p: &Platform) -> PathBuf {
    vscode_user_dir(p).join("globalStorage").join("saoudrizwan.claude-dev")
}

/// Zed's config directory: `~/.config/zed` on macOS too, `%APPDATA%\Zed` on Windows.
pub fn zed_dir(p: &Platform) -> PathBuf {
    match p.os {
        Os::MacOs => p.home.join(".config").join("zed"),
        Os::Windows => p.appdata().join("Zed"),
        Os::Linux => p.xdg_config().join("zed"),
    }
}

/// The file `id` reads its MCP servers from, given the MSIX packages found.
pub fn config_file(id: McpClient, p: &Platform, msix_packages: &[String]) -> PathBuf {
    match id {
        McpClient::ClaudeDesktop => claude_desktop_dir(p, msix_packages).join("claude_desktop_config.json"),
        McpClient::ClaudeCode => match p.var("CLAUDE_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir).join(".claude.json"),
            None => p.home.join(".claude.json"),
        },
        McpClient::Cursor => p.home.join(".cursor").join("mcp.json"),
        McpClient::VsCode => vscode_user_dir(p).join("mcp.json"),
        McpClient::Windsurf => p.home.join(".codeium").join("windsurf").join("mcp_config.json"),
        McpClient::Zed => zed_dir(p).join("settings.json"),
        McpClient::Cline => cline_dir(p).join("settings").join("cline_mcp_settings.json"),
    }
}

/// The paths whose existence means `id` is installed (any one is enough).
pub fn install_markers(id: McpClient, p: &Platform, msix_packages: &[String]) -> Vec<PathBuf> {
    let mut markers = match id {
        McpClient::ClaudeDesktop => vec![claude_desktop_dir(p, msix_packages)],
        McpClient::ClaudeCode => vec![config_file(id, p, msix_packages), p.home.join(".claude")],
        McpClient::Cursor => vec![p.home.join(".cursor")],
        McpClient::VsCode => vec![vscode_user_dir(p)],
        McpClient::Windsurf => vec![p.home.join(".codeium").join("windsurf")],
        McpClient::Zed => vec![zed_dir(p)],
        McpClient::Cline => vec![cline_dir(p)],
    };
    if id == McpClient::ClaudeDesktop
        && let Some(pkg) = pick_msix_package(msix_packages)
    {
        markers.push(p.msix_packages_dir().join(pkg));
    }
    markers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(home: &str) -> Platform {
        Platform::new(
            Os::Windows,
            PathBuf::from(home),
            [
                ("APPDATA".to_owned(), format!("{home}/AppData/Roaming")),
                ("LOCALAPPDATA".to_owned(), format!("{home}/AppData/Local")),
                ("PATH".to_owned(), "ignored".to_owned()),
            ],
        )
    }

    #[test]
    fn claude_desktop_on_macos_reads_application_support() {
        let p = Platform::new(Os::MacOs, "/Users/ann".into(), []);
        assert_eq!(
            config_file(McpClient::ClaudeDesktop, &p, &[]),
            PathBuf::from("/Users/ann/Library/Application Support/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            config_file(McpClient::VsCode, &p, &[]),
            PathBuf::from("/Users/ann/Library/Application Support/Code/User/mcp.json")
        );
        assert_eq!(
            config_file(McpClient::Zed, &p, &[]),
            PathBuf::from("/Users/ann/.config/zed/settings.json")
        );
    }

    #[test]
    fn claude_desktop_on_windows_reads_appdata_without_msix() {
        let p = windows("C:/Users/ann");
        assert_eq!(
            config_file(McpClient::ClaudeDesktop, &p, &[]),
            PathBuf::from("C:/Users/ann/AppData/Roaming/Claude/claude_desktop_config.json")
        );
    }

    #[test]
    fn claude_desktop_on_windows_msix_reads_its_package_local_cache() {
        let p = windows("C:/Users/ann");
        let found = vec!["Claude_pzs8sxrjxfjjc".to_owned()];
        assert_eq!(
            config_file(McpClient::ClaudeDesktop, &p, &found),
            PathBuf::from(
                "C:/Users/ann/AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json"
            )
        );
        let other = vec!["Claude_other123".to_owned(), "Claude_pzs8sxrjxfjjc".to_owned()];
        assert_eq!(pick_msix_package(&other), Some("Claude_pzs8sxrjxfjjc"));
        assert_eq!(
            pick_msix_package(&["Claude_other123".to_owned()]),
            Some("Claude_other123")
        );
        assert_eq!(pick_msix_package(&[]), None);
    }

    #[test]
    fn windows_clients_use_appdata_and_the_user_profile() {
        let p = windows("C:/Users/ann");
        assert_eq!(
            config_file(McpClient::VsCode, &p, &[]),
            PathBuf::from("C:/Users/ann/AppData/Roaming/Code/User/mcp.json")
        );
        assert_eq!(
            config_file(McpClient::Cline, &p, &[]),
            PathBuf::from(
                "C:/Users/ann/AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
            )
        );
        assert_eq!(
            config_file(McpClient::Zed, &p, &[]),
            PathBuf::from("C:/Users/ann/AppData/Roaming/Zed/settings.json")
        );
        assert_eq!(
            config_file(McpClient::Cursor, &p, &[]),
            PathBuf::from("C:/Users/ann/.cursor/mcp.json")
        );
        assert_eq!(
            config_file(McpClient::Windsurf, &p, &[]),
            PathBuf::from("C:/Users/ann/.codeium/windsurf/mcp_config.json")
        );
    }

    #[test]
    fn windows_without_appdata_falls_back_to_the_profile() {
        let p = Platform::new(Os::Windows, "C:/Users/bo".into(), []);
        assert_eq!(p.appdata(), PathBuf::from("C:/Users/bo/AppData/Roaming"));
        assert_eq!(p.local_appdata(), PathBuf::from("C:/Users/bo/AppData/Local"));
    }

    #[test]
    fn linux_honours_xdg_config_home() {
        let p = Platform::new(Os::Linux, "/home/ann".into(), []);
        assert_eq!(
            config_file(McpClient::ClaudeDesktop, &p, &[]),
            PathBuf::from("/home/ann/.config/Claude/claude_desktop_config.json")
        );
        let p = Platform::new(
            Os::Linux,
            "/home/ann".into(),
            [("XDG_CONFIG_HOME".to_owned(), "/cfg".to_owned())],
        );
        assert_eq!(
            config_file(McpClient::ClaudeDesktop, &p, &[]),
            PathBuf::from("/cfg/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            config_file(McpClient::Zed, &p, &[]),
            PathBuf::from("/cfg/zed/settings.json")
        );
        assert_eq!(
            config_file(McpClient::VsCode, &p, &[]),
            PathBuf::from("/cfg/Code/User/mcp.json")
        );
        let relative = Platform::new(
            Os::Linux,
            "/home/ann".into(),
            [("XDG_CONFIG_HOME".to_owned(), "cfg".to_owned())],
        );
        assert_eq!(relative.xdg_config(), PathBuf::from("/home/ann/.config"));
    }

    #[test]
    fn claude_code_reads_its_json_in_the_home_or_its_config_dir() {
        let p = Platform::new(Os::Linux, "/home/ann".into(), []);
        assert_eq!(
            config_file(McpClient::ClaudeCode, &p, &[]),
            PathBuf::from("/home/ann/.claude.json")
        );
        let p = Platform::new(
            Os::Linux,
            "/home/ann".into(),
            [("CLAUDE_CONFIG_DIR".to_owned(), "/cc".to_owned())],
        );
        assert_eq!(
            config_file(McpClient::ClaudeCode, &p, &[]),
            PathBuf::from("/cc/.claude.json")
        );
    }

    #[test]
    fn a_temporary_home_ignores_the_real_environment() {
        let tmp = std::env::temp_dir().join(format!("tether-platform-{}", std::process::id()));
        let p = Platform::current(&tmp);
        assert_eq!(p.var("XDG_CONFIG_HOME"), None);
        assert_eq!(p.var("APPDATA"), None);
        assert_eq!(p.home, tmp);
    }

    #[test]
    fn msix_packages_are_found_on_disk_on_windows_only() {
        let tmp = std::env::temp_dir().join(format!("tether-msix-{}", std::process::id()));
        let local = tmp.join("Local");
        std::fs::create_dir_all(local.join("Packages").join(CLAUDE_MSIX_FAMILY)).unwrap();
        std::fs::create_dir_all(local.join("Packages").join("Other_123")).unwrap();
        let env = [("LOCALAPPDATA".to_owned(), local.display().to_string())];
        let p = Platform::new(Os::Windows, tmp.clone(), env.clone());
        assert_eq!(p.claude_msix_packages(), vec![CLAUDE_MSIX_FAMILY.to_owned()]);
        let p = Platform::new(Os::Linux, tmp.clone(), env);
        assert!(p.claude_msix_packages().is_empty());
        std::fs::remove_dir_all(tmp).unwrap();
    }
}
