//! Quitting and relaunching Claude Desktop, which reads its config only at
//! launch.
//!
//! Owns the per-OS recipe, planned by a pure function of the platform and
//! of what exists (so every OS's plan is unit-tested anywhere) and then
//! carried out with fixed programs and arguments, never a shell string:
//! macOS asks the app to quit with AppleScript and reopens it with
//! `open -a Claude`; Windows ends `claude.exe` with `taskkill` and starts
//! the classic install's launcher or the MSIX package through the shell's
//! AppsFolder; Linux ends `claude-desktop` with `pkill` and starts it again
//! from `PATH`. When Claude Desktop is not installed, nothing is stopped and
//! the error says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ClientsError;
use super::paths::{Os, Platform, pick_msix_package};

/// What restarting Claude Desktop takes on one OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Asks Claude Desktop to quit (a non-zero exit means it was not running).
    pub quit: Vec<String>,
    /// Succeeds while Claude Desktop still runs, when the OS has such a check.
    pub still_running: Option<Vec<String>>,
    /// Starts it again.
    pub launch: (PathBuf, Vec<String>),
}

/// The plan for `p`, given which paths exist and where programs are on PATH.
pub fn plan(
    p: &Platform,
    exists: &dyn Fn(&Path) -> bool,
    which: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<Plan, ClientsError> {
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    match p.os {
        Os::MacOs => {
            let apps = [
                PathBuf::from("/Applications/Claude.app"),
                p.home.join("Applications").join("Claude.app"),
            ];
            if !apps.iter().any(|a| exists(a)) {
                return Err(ClientsError::ClaudeNotFound(
                    "there is no Claude.app in /Applications or ~/Applications".into(),
                ));
            }
            Ok(Plan {
                quit: s(&["osascript", "-e", "quit app \"Claude\""]),
                still_running: Some(s(&["pgrep", "-x", "Claude"])),
                launch: (PathBuf::from("open"), s(&["-a", "Claude"])),
            })
        }
        Os::Windows => {
            let classic = p.local_appdata().join("AnthropicClaude").join("claude.exe");
            let packages: Vec<String> = p.claude_msix_packages();
            let launch = if let Some(pkg) = pick_msix_package(&packages) {
                (
                    PathBuf::from("explorer.exe"),
                    vec![format!("shell:AppsFolder\\{pkg}!Claude")],
                )
            } else if exists(&classic) {
                (classic, Vec::new())
            } else {
                return Err(ClientsError::ClaudeNotFound(format!(
                    "neither {} nor its Microsoft Store package exists",
                    classic.display()
                )));
            };
            Ok(Plan {
                quit: s(&["taskkill", "/F", "/T", "/IM", "claude.exe"]),
                still_running: None,
                launch,
            })
        }
        Os::Linux => {
            let program = which("claude-desktop")
                .ok_or_else(|| ClientsError::ClaudeNotFound("the program claude-desktop is not on PATH".into()))?;
            Ok(Plan {
                quit: s(&["pkill", "-f", "claude-desktop"]),
                still_running: Some(s(&["pgrep", "-f", "claude-desktop"])),
                launch: (program, Vec::new()),
            })
        }
    }
}

/// Quits Claude Desktop (when it runs) and starts it again, so it reads its
/// config anew.
pub fn restart_claude_desktop() -> Result<(), ClientsError> {
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .ok_or_else(|| ClientsError::ClaudeNotFound("there is no home directory".into()))?;
    let platform = Platform::current(&home);
    let plan = plan(&platform, &|p: &Path| p.exists(), &which)?;
    let quiet = |args: &[String]| {
        Command::new(&args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    // Not running is fine: the quit command then fails, and we launch.
    let _ = quiet(&plan.quit);
    let deadline = Instant::now() + Duration::from_secs(15);
    match &plan.still_running {
        Some(check) => {
            while quiet(check).is_ok_and(|s| s.success()) {
                if Instant::now() > deadline {
                    return Err(ClientsError::Restart(
                        "Claude Desktop did not quit within 15 s; quit it from its tray icon, then start it again"
                            .into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        None => std::thread::sleep(Duration::from_millis(1500)),
    }
    let (program, args) = &plan.launch;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ClientsError::Restart(format!("cannot start {}: {e}", program.display())))?;
    // Reap it whenever it exits, so no zombie stays behind a long-lived app.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// The path of `program` on `PATH`, if it is there and executable.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing(_: &Path) -> bool {
        false
    }

    #[test]
    fn macos_quits_with_applescript_and_reopens_with_open() {
        let p = Platform::new(Os::MacOs, "/Users/ann".into(), []);
        let found = |path: &Path| path == Path::new("/Users/ann/Applications/Claude.app");
        let plan = plan(&p, &found, &|_| None).unwrap();
        assert_eq!(plan.quit, ["osascript", "-e", "quit app \"Claude\""]);
        assert_eq!(plan.launch, (PathBuf::from("open"), vec!["-a".into(), "Claude".into()]));
        let e = super::plan(&p, &nothing, &|_| None).unwrap_err();
        assert!(e.to_string().starts_with("Claude Desktop was not found"), "{e}");
    }

    #[test]
    fn windows_starts_the_classic_launcher_when_there_is_no_package() {
        let p = Platform::new(
            Os::Windows,
            "C:/Users/ann".into(),
            [("LOCALAPPDATA".to_owned(), "C:/Users/ann/AppData/Local".to_owned())],
        );
        let exe = PathBuf::from("C:/Users/ann/AppData/Local/AnthropicClaude/claude.exe");
        let found = |path: &Path| path == exe.as_path();
        let plan = plan(&p, &found, &|_| None).unwrap();
        assert_eq!(plan.quit[0], "taskkill");
        assert_eq!(plan.launch.0, exe);
        assert!(super::plan(&p, &nothing, &|_| None).is_err());
    }

    #[test]
    fn windows_starts_the_msix_package_through_the_apps_folder() {
        let tmp = std::env::temp_dir().join(format!("tether-restart-{}", std::process::id()));
        let local = tmp.join("Local");
        std::fs::create_dir_all(local.join("Packages").join("Claude_pzs8sxrjxfjjc")).unwrap();
        let p = Platform::new(
            Os::Windows,
            tmp.clone(),
            [("LOCALAPPDATA".to_owned(), local.display().to_string())],
        );
        let plan = plan(&p, &nothing, &|_| None).unwrap();
        assert_eq!(plan.launch.0, PathBuf::from("explorer.exe"));
        assert_eq!(plan.launch.1, ["shell:AppsFolder\\Claude_pzs8sxrjxfjjc!Claude"]);
        std::fs::remove_dir_all(tmp).unwrap();
    }

    #[test]
    fn linux_needs_claude_desktop_on_the_path() {
        let p = Platform::new(Os::Linux, "/home/ann".into(), []);
        let e = plan(&p, &nothing, &|_| None).unwrap_err();
        assert!(e.to_string().contains("claude-desktop is not on PATH"), "{e}");
        let plan = plan(&p, &nothing, &|name| Some(PathBuf::from("/usr/bin").join(name))).unwrap();
        assert_eq!(plan.quit, ["pkill", "-f", "claude-desktop"]);
        assert_eq!(plan.launch.0, PathBuf::from("/usr/bin/claude-desktop"));
    }
}
