//! Quitting and relaunching Claude Desktop, which reads its config only at
//! launch.
//!
//! Owns the per-OS recipe, planned by a pure function of the platform and
//! of what exists (so every OS's plan is unit-tested anywhere) and then
//! carried out with fixed programs and arguments, never a shell string.
//! Claude Desktop's processes are found by the path of their executable,
//! never by a name: Claude Code is `claude.exe` on Windows too (`taskkill /IM
//! claude.exe` would end it, and every session in it), and `pkill -f
//! claude-desktop` matches any command line that mentions the word.
//!
//! - macOS: AppleScript asks the app by its bundle id
//!   (`com.anthropic.claudefordesktop`) to quit, as its menu would; it is
//!   running while a process's command line starts with the app's
//!   `Contents/MacOS/Claude`; `open <the app>` starts it again.
//! - Windows: PowerShell ends the processes whose `ExecutablePath` is under
//!   the classic install (`%LOCALAPPDATA%\AnthropicClaude\`, the launcher and
//!   its `app-<version>\claude.exe`) or in Claude's MSIX package
//!   (`…\WindowsApps\Claude_<version>_<arch>__pzs8sxrjxfjjc\`); the patterns
//!   reach the script through its environment, not its text. The launcher or
//!   the package (through the shell's AppsFolder) starts it again.
//! - Linux (no official build; community packages): the processes whose
//!   executable (`/proc/<pid>/exe`) is the `claude-desktop` found on `PATH`, or
//!   whose interpreter runs that file as a script, get SIGTERM; the same
//!   program starts it again.
//!
//! When Claude Desktop is not installed, nothing is stopped and the error says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ClientsError;
use super::paths::{Os, Platform, pick_msix_package};

/// Claude Desktop's bundle identifier on macOS.
pub const MACOS_BUNDLE_ID: &str = "com.anthropic.claudefordesktop";

/// The environment variable that carries the executable patterns to the
/// Windows scripts, one per line.
const PATTERNS_VAR: &str = "TETHER_CLAUDE_EXE_PATTERNS";

/// Windows PowerShell 5.1 (on every Windows 10 and 11): the processes whose
/// executable matches one of the patterns. `-like` is case-insensitive, as
/// Windows paths are.
const PS_MATCHING: &str = "$patterns = $env:TETHER_CLAUDE_EXE_PATTERNS -split \"`n\"; \
     $found = @(Get-CimInstance Win32_Process | Where-Object { $p = $_.ExecutablePath; $p -and @($patterns | Where-Object { $p -like $_ }).Count });";

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A program with fixed arguments; data goes in `env`, never into a
    /// script's text. For a check, exit status 0 means "still running".
    Run {
        argv: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// The processes that run `program` (Linux, through `/proc`): SIGTERM
    /// to quit; for a check, whether any is left.
    Processes { program: PathBuf },
}

impl Step {
    fn run(argv: &[&str]) -> Self {
        Step::Run {
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
        }
    }
}

/// What restarting Claude Desktop takes on one OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Asks Claude Desktop to quit, or ends it; not running is fine.
    pub quit: Step,
    /// Whether Claude Desktop still runs.
    pub still_running: Step,
    /// Starts it again.
    pub launch: (PathBuf, Vec<String>),
}

/// The plan for `p`, given which paths exist and where programs are on PATH.
pub fn plan(
    p: &Platform,
    exists: &dyn Fn(&Path) -> bool,
    which: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<Plan, ClientsError> {
    match p.os {
        Os::MacOs => {
            let apps = [
                PathBuf::from("/Applications/Claude.app"),
                p.home.join("Applications").join("Claude.app"),
            ];
            let Some(app) = apps.into_iter().find(|a| exists(a)) else {
                return Err(ClientsError::ClaudeNotFound(
                    "there is no Claude.app in /Applications or ~/Applications".into(),
                ));
            };
            let main = app.join("Contents").join("MacOS").join("Claude");
            let script = format!("tell application id \"{MACOS_BUNDLE_ID}\" to quit");
            Ok(Plan {
                quit: Step::run(&["osascript", "-e", &script]),
                // pgrep's pattern is an extended regular expression over the
                // whole command line: the main executable's path, from the start.
                still_running: Step::run(&[
                    "pgrep",
                    "-f",
                    &format!("^{}( |$)", regex_escape(&main.to_string_lossy())),
                ]),
                launch: (PathBuf::from("open"), vec![app.to_string_lossy().into_owned()]),
            })
        }
        Os::Windows => {
            let classic_dir = p.local_appdata().join("AnthropicClaude");
            let classic = classic_dir.join("claude.exe");
            let packages: Vec<String> = p.claude_msix_packages();
            let package = pick_msix_package(&packages);
            let launch = if let Some(pkg) = package {
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
            let patterns = windows_exe_patterns(&classic_dir.to_string_lossy(), package).join("\n");
            let ps = |script: String| Step::Run {
                argv: ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]
                    .iter()
                    .map(|a| (*a).to_owned())
                    .chain([script])
                    .collect(),
                env: vec![(PATTERNS_VAR.to_owned(), patterns.clone())],
            };
            Ok(Plan {
                quit: ps(format!(
                    "{PS_MATCHING} $found | ForEach-Object {{ Stop-Process -Id $_.ProcessId -Force -ErrorAction SilentlyContinue }}"
                )),
                still_running: ps(format!(
                    "{PS_MATCHING} if ($found.Count) {{ exit 0 }} else {{ exit 1 }}"
                )),
                launch,
            })
        }
        Os::Linux => {
            let program = which("claude-desktop")
                .ok_or_else(|| ClientsError::ClaudeNotFound("the program claude-desktop is not on PATH".into()))?;
            Ok(Plan {
                quit: Step::Processes {
                    program: program.clone(),
                },
                still_running: Step::Processes {
                    program: program.clone(),
                },
                launch: (program, Vec::new()),
            })
        }
    }
}

/// The PowerShell `-like` patterns of Claude Desktop's executables on
/// Windows: everything under the classic install's directory, and, when its
/// MSIX package exists, everything in that package's install directory
/// (`<name>_<version>_<arch>__<publisher id>`, wherever WindowsApps is).
pub fn windows_exe_patterns(classic_dir: &str, msix_package: Option<&str>) -> Vec<String> {
    // ExecutablePath uses backslashes; a path put together elsewhere may not.
    let classic_dir = classic_dir.replace('/', "\\");
    let mut patterns = vec![format!("{}\\*", wildcard_escape(classic_dir.trim_end_matches('\\')))];
    if let Some((name, publisher)) = msix_package.and_then(|f| f.rsplit_once('_')) {
        patterns.push(format!(
            "*\\WindowsApps\\{}_*__{}\\*",
            wildcard_escape(name),
            wildcard_escape(publisher)
        ));
    }
    patterns
}

/// Escapes PowerShell's wildcard characters (`*?[]` and its escape, the backtick).
fn wildcard_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '`') {
            out.push('`');
        }
        out.push(c);
    }
    out
}

/// Escapes a literal for a POSIX extended regular expression.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a process runs `program`: its executable is the program (symlinks
/// resolved: `canonical`), or an interpreter runs the program as a script
/// (`/bin/sh /usr/bin/claude-desktop`). A process whose arguments merely
/// mention the program does not count.
pub fn runs_program(exe: Option<&Path>, argv: &[String], program: &Path, canonical: &Path) -> bool {
    let is_it = |p: &Path| p == program || p == canonical;
    exe.is_some_and(is_it)
        || argv.first().is_some_and(|a| is_it(Path::new(a)))
        || argv.get(1).is_some_and(|a| is_it(Path::new(a)))
            && exe
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
                .is_some_and(|n| matches!(n, "sh" | "bash" | "dash" | "zsh" | "python3" | "python" | "env"))
}

/// The ids of this user's processes that run `program` (Linux: `/proc`;
/// elsewhere, none).
fn processes_running(program: &Path) -> Vec<u32> {
    let canonical = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .map(|pid| (pid, e.path()))
        })
        .filter(|(pid, _)| *pid != me)
        .filter(|(_, dir)| {
            let exe = std::fs::read_link(dir.join("exe")).ok();
            let argv: Vec<String> = std::fs::read(dir.join("cmdline"))
                .map(|raw| {
                    raw.split(|b| *b == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            runs_program(exe.as_deref(), &argv, program, &canonical)
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Runs a step; `true` when it succeeded (for a check: still running).
fn carry_out(step: &Step, quitting: bool) -> bool {
    match step {
        Step::Run { argv, env } => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..])
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            #[cfg(windows)]
            {
                // No console window flashes up from the tray app: CREATE_NO_WINDOW.
                std::os::windows::process::CommandExt::creation_flags(&mut cmd, 0x0800_0000);
            }
            cmd.status().is_ok_and(|s| s.success())
        }
        Step::Processes { program } => {
            let pids = processes_running(program);
            if quitting && !pids.is_empty() {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .args(pids.iter().map(u32::to_string))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            !pids.is_empty()
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
    // Not running is fine: then there is nothing to quit, and we launch.
    carry_out(&plan.quit, true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while carry_out(&plan.still_running, false) {
        if Instant::now() > deadline {
            return Err(ClientsError::Restart(
                "Claude Desktop did not quit within 15 s; quit it from its tray icon, then start it again".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
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

    fn argv(step: &Step) -> &[String] {
        match step {
            Step::Run { argv, .. } => argv,
            Step::Processes { .. } => panic!("not a command: {step:?}"),
        }
    }

    #[test]
    fn macos_quits_claude_by_its_bundle_id_and_checks_its_executable_path() {
        let p = Platform::new(Os::MacOs, "/Users/ann".into(), []);
        let found = |path: &Path| path == Path::new("/Users/ann/Applications/Claude.app");
        let plan = plan(&p, &found, &|_| None).unwrap();
        assert_eq!(
            argv(&plan.quit),
            [
                "osascript",
                "-e",
                "tell application id \"com.anthropic.claudefordesktop\" to quit"
            ]
        );
        assert_eq!(
            argv(&plan.still_running),
            [
                "pgrep",
                "-f",
                r"^/Users/ann/Applications/Claude\.app/Contents/MacOS/Claude( |$)"
            ],
            "the app's own executable, not any process named claude (Claude Code is one)"
        );
        assert_eq!(
            plan.launch,
            (PathBuf::from("open"), vec!["/Users/ann/Applications/Claude.app".into()])
        );
        let e = super::plan(&p, &nothing, &|_| None).unwrap_err();
        assert!(e.to_string().starts_with("Claude Desktop was not found"), "{e}");
    }

    #[test]
    fn windows_ends_the_processes_under_the_classic_install_not_every_claude_exe() {
        let p = Platform::new(
            Os::Windows,
            "C:/Users/ann".into(),
            [("LOCALAPPDATA".to_owned(), r"C:\Users\ann\AppData\Local".to_owned())],
        );
        let exe = PathBuf::from(r"C:\Users\ann\AppData\Local")
            .join("AnthropicClaude")
            .join("claude.exe");
        let found = |path: &Path| path == exe.as_path();
        let plan = plan(&p, &found, &|_| None).unwrap();
        let Step::Run { argv, env } = &plan.quit else {
            panic!("{:?}", plan.quit)
        };
        assert_eq!(
            argv[..4],
            ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]
        );
        assert!(argv[4].contains("Stop-Process -Id $_.ProcessId"));
        assert!(
            !argv[4].contains("AnthropicClaude"),
            "paths reach the script as data, not as code"
        );
        assert!(!argv.iter().any(|a| a.contains("/IM")), "never by image name");
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].0, "TETHER_CLAUDE_EXE_PATTERNS");
        assert!(env[0].1.starts_with(r"C:\Users\ann\AppData\Local"));
        assert!(env[0].1.ends_with(r"AnthropicClaude\*"), "{}", env[0].1);
        assert!(argv_of(&plan.still_running)[4].contains("exit 0"));
        assert_eq!(plan.launch.0, exe);
        assert!(super::plan(&p, &nothing, &|_| None).is_err());
    }

    fn argv_of(step: &Step) -> Vec<String> {
        argv(step).to_vec()
    }

    #[test]
    fn windows_patterns_cover_the_classic_install_and_the_msix_package_only() {
        let patterns = windows_exe_patterns(
            r"C:\Users\ann [x]\AppData\Local\AnthropicClaude\",
            Some("Claude_pzs8sxrjxfjjc"),
        );
        assert_eq!(
            patterns,
            [
                r"C:\Users\ann `[x`]\AppData\Local\AnthropicClaude\*",
                r"*\WindowsApps\Claude_*__pzs8sxrjxfjjc\*"
            ],
            "wildcards in a user's path are escaped"
        );
        // What PowerShell's -like makes of them, for the paths that matter.
        let like = |pattern: &str, path: &str| wildcard_match(&pattern.to_lowercase(), &path.to_lowercase());
        let desktop = [
            r"C:\Users\ann [x]\AppData\Local\AnthropicClaude\claude.exe",
            r"C:\Users\ann [x]\AppData\Local\AnthropicClaude\app-0.14.10\claude.exe",
            r"C:\Program Files\WindowsApps\Claude_0.14.10.0_x64__pzs8sxrjxfjjc\app\claude.exe",
        ];
        let not_desktop = [
            r"C:\Users\ann [x]\.local\bin\claude.exe",
            r"C:\Users\ann [x]\AppData\Roaming\npm\node_modules\@anthropic-ai\claude-code\claude.exe",
            r"C:\Program Files\WindowsApps\Claude_0.1.0.0_x64__otherpublisher\claude.exe",
        ];
        for path in desktop {
            assert!(patterns.iter().any(|p| like(p, path)), "{path}");
        }
        for path in not_desktop {
            assert!(!patterns.iter().any(|p| like(p, path)), "{path}");
        }
    }

    /// PowerShell's `-like`, enough for the patterns above: `*`, and a
    /// backtick escaping the next character.
    fn wildcard_match(pattern: &str, text: &str) -> bool {
        fn go(p: &[char], t: &[char]) -> bool {
            match p.first() {
                None => t.is_empty(),
                Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
                Some('`') => t.first() == p.get(1) && go(&p[2..], &t[1..]),
                Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
            }
        }
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        go(&p, &t)
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
        let Step::Run { env, .. } = &plan.quit else {
            panic!("{:?}", plan.quit)
        };
        assert!(
            env[0].1.ends_with(r"*\WindowsApps\Claude_*__pzs8sxrjxfjjc\*"),
            "{}",
            env[0].1
        );
        std::fs::remove_dir_all(tmp).unwrap();
    }

    #[test]
    fn linux_ends_the_processes_that_run_claude_desktop_not_those_that_mention_it() {
        let p = Platform::new(Os::Linux, "/home/ann".into(), []);
        let e = plan(&p, &nothing, &|_| None).unwrap_err();
        assert!(e.to_string().contains("claude-desktop is not on PATH"), "{e}");
        let plan = plan(&p, &nothing, &|name| Some(PathBuf::from("/usr/bin").join(name))).unwrap();
        let program = PathBuf::from("/usr/bin/claude-desktop");
        assert_eq!(
            plan.quit,
            Step::Processes {
                program: program.clone()
            }
        );
        assert_eq!(plan.launch.0, program);

        let real = Path::new("/usr/lib/claude-desktop/claude-desktop");
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let runs = |exe: &str, argv: &[&str]| runs_program(Some(Path::new(exe)), &args(argv), &program, real);
        assert!(
            runs("/usr/lib/claude-desktop/claude-desktop", &["claude-desktop"]),
            "the program itself"
        );
        assert!(
            runs("/usr/bin/bash", &["/bin/bash", "/usr/bin/claude-desktop"]),
            "a launcher script"
        );
        assert!(
            !runs("/usr/bin/vim", &["vim", "/usr/bin/claude-desktop"]),
            "an editor of it"
        );
        assert!(!runs("/usr/bin/grep", &["grep", "claude-desktop", "notes.txt"]));
        assert!(
            !runs("/home/ann/.local/bin/claude", &["claude", "--resume"]),
            "Claude Code"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_a_running_program_is_found_by_its_executable_in_proc() {
        let sleep = which("sleep").expect("sleep is on PATH");
        let mut child = Command::new(&sleep).arg("30").spawn().unwrap();
        let found = processes_running(&sleep);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&child.id()), "{found:?} lacks {}", child.id());
        assert!(processes_running(Path::new("/nonexistent/claude-desktop")).is_empty());
    }
}
