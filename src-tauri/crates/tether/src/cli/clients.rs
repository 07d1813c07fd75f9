//! `tether install`, `uninstall` and `import`: MCP clients' config files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use tether::clients::{self, Candidate, McpClient, Platform};
use tether::contract::{
    ClientChange, ClientFailure, ImportCandidate, ImportReport, InstallReport, NamedFailure, UninstallReport,
};
use tether::manage;
use tether::servers::Servers;

use super::messages::{error, print, print_json, say, warn};
use super::{parse_client, paths, runtime};

/// Where MCP clients' configs are looked for, and the program they run.
#[derive(Args)]
pub(super) struct ClientsArgs {
    /// The home directory whose client configs are edited (default: $HOME).
    #[arg(long, value_name = "DIR", hide = true)]
    home: Option<PathBuf>,
    /// The tether program the entries run (default: this one).
    #[arg(long, value_name = "PATH", hide = true)]
    command: Option<PathBuf>,
    /// Quit and restart Claude Desktop afterwards, so it loads the change.
    #[arg(long)]
    restart: bool,
}

#[derive(Args)]
pub(super) struct InstallArgs {
    /// The server's name (as given to `tether add`).
    name: String,
    /// The client to configure: claude-desktop (default), claude-code,
    /// cursor, vscode, windsurf, zed, cline. Repeatable.
    #[arg(long = "client", value_name = "ID", value_parser = parse_client)]
    pub(super) clients: Vec<McpClient>,
    /// Every client installed on this computer.
    #[arg(long, conflicts_with = "clients")]
    all: bool,
    /// Let the client talk to the server over HTTP itself, with `tether
    /// token <name> --header=json` giving it the token (Claude Code's
    /// headersHelper), instead of running `tether run <name>`. Only for
    /// clients that can run such a program; with it, the default client is
    /// claude-code.
    #[arg(long)]
    http: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    target: ClientsArgs,
}

#[derive(Args)]
pub(super) struct UninstallArgs {
    /// The server's name.
    name: String,
    /// The client to change (default: every client that has the entry). Repeatable.
    #[arg(long = "client", value_name = "ID", value_parser = parse_client)]
    clients: Vec<McpClient>,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    target: ClientsArgs,
}

#[derive(Args)]
pub(super) struct ImportArgs {
    /// Only list what would be imported.
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
    /// Import only this entry (`<client>:<name>`, e.g. claude-desktop:linear).
    /// Repeatable; without it, every entry found is imported.
    #[arg(long, value_name = "CLIENT:NAME")]
    pick: Vec<String>,
    /// Afterwards, delete mcp-remote's token cache (~/.mcp-auth), whose
    /// tokens are in plain text, after checking it holds only mcp-remote's
    /// files. Entries that still run mcp-remote will sign in again.
    #[arg(long, conflicts_with = "dry_run")]
    delete_mcp_auth: bool,
    #[command(flatten)]
    target: ClientsArgs,
}

impl ClientsArgs {
    /// The platform whose client configs are edited: `--home`, else `$HOME`.
    fn platform(&self) -> Result<Platform> {
        let home = match &self.home {
            Some(h) => h.clone(),
            None => directories::BaseDirs::new()
                .map(|b| b.home_dir().to_path_buf())
                .context("cannot find the home directory; set HOME")?,
        };
        Ok(Platform::current(&home))
    }

    /// The program the entries run: `--command`, else this executable; never
    /// one in a transient place (an AppImage's mount, a disk image, a
    /// temporary folder: `clients::program`).
    fn program(&self) -> Result<PathBuf> {
        let path = match &self.command {
            Some(p) => p.clone(),
            None => std::env::current_exe().context("cannot find the path of this tether program")?,
        };
        let path = std::fs::canonicalize(&path).with_context(|| format!("{} does not exist", path.display()))?;
        Ok(clients::program::for_entries(&path, &paths()?.state)?)
    }

    /// Restarts Claude Desktop when asked and when its config changed.
    fn after(&self, claude_changed: bool) -> Result<()> {
        if claude_changed {
            if self.restart {
                clients::restart_claude_desktop()?;
                say("Restarted Claude Desktop.");
            } else {
                say(
                    "Quit Claude Desktop (from its tray icon too) and start it again to load the change, or pass --restart.",
                );
            }
        }
        Ok(())
    }
}

pub(super) fn install(args: InstallArgs) -> Result<ExitCode> {
    tether::servers::check_name(&args.name)?;
    let platform = args.target.platform()?;
    let program = args.target.program()?;
    let targets: Vec<McpClient> = if args.all {
        let found: Vec<McpClient> = McpClient::ALL
            .iter()
            .copied()
            .filter(|c| clients::is_installed(*c, &platform) && (!args.http || c.headers_hook()))
            .collect();
        if found.is_empty() {
            bail!("no MCP client was found on this computer; name one with --client");
        }
        found
    } else if args.clients.is_empty() {
        vec![if args.http {
            McpClient::ClaudeCode
        } else {
            McpClient::ClaudeDesktop
        }]
    } else {
        args.clients.clone()
    };
    let url = Servers::new(&paths()?.config)
        .load()
        .ok()
        .and_then(|mut f| f.servers.remove(&args.name))
        .map(|c| c.url);
    let url = match (url, args.http) {
        (Some(u), _) => Some(u),
        (None, true) => bail!(
            "no server is named {0:?}; an HTTP entry needs its URL: add it first with `tether add {0} <url>`",
            args.name
        ),
        (None, false) => {
            warn(format!(
                "no server is named {0:?} yet; add it with `tether add {0} <url>`",
                args.name
            ));
            None
        }
    };
    let mut report = InstallReport::default();
    for id in &targets {
        let installed = match (&url, args.http) {
            (Some(url), true) => clients::install_http(*id, &platform, &args.name, url, &program),
            _ => clients::install(*id, &platform, &args.name, &program),
        };
        match installed {
            Ok(path) if args.http => {
                say(format!(
                    "Added {0} to {1} ({2}) as an HTTP entry: {1} talks to the server itself, and `tether token {0}` gives it a fresh token.",
                    args.name,
                    id.name(),
                    path.display()
                ));
                report.installed.push(change(*id, &path));
            }
            Ok(path) => {
                say(format!("Added {} to {} ({}).", args.name, id.name(), path.display()));
                report.installed.push(change(*id, &path));
            }
            Err(e) => {
                error(format!("{}: {e}", id.name()));
                report.errors.push(failure(*id, &e));
            }
        }
    }
    let claude = changed_claude(&report.installed);
    finish(args.json, &report, report.errors.is_empty(), claude, &args.target)
}

pub(super) fn uninstall(args: UninstallArgs) -> Result<ExitCode> {
    let platform = args.target.platform()?;
    let targets: Vec<McpClient> = if args.clients.is_empty() {
        McpClient::ALL
            .iter()
            .copied()
            .filter(|c| clients::tether_entries(*c, &platform).contains(&args.name))
            .collect()
    } else {
        args.clients.clone()
    };
    let mut report = UninstallReport::default();
    for id in &targets {
        match clients::uninstall(*id, &platform, &args.name) {
            Ok(true) => {
                let path = clients::config_path(*id, &platform).unwrap_or_default();
                say(format!(
                    "Removed {} from {} ({}).",
                    args.name,
                    id.name(),
                    path.display()
                ));
                report.removed.push(change(*id, &path));
            }
            Ok(false) => say(format!("{} has no entry {:?}.", id.name(), args.name)),
            Err(e) => {
                error(format!("{}: {e}", id.name()));
                report.errors.push(failure(*id, &e));
            }
        }
    }
    if targets.is_empty() {
        say(format!("No MCP client has an entry {:?}.", args.name));
    }
    let claude = changed_claude(&report.removed);
    finish(args.json, &report, report.errors.is_empty(), claude, &args.target)
}

fn change(id: McpClient, path: &std::path::Path) -> ClientChange {
    ClientChange {
        client: id.id().to_owned(),
        path: path.display().to_string(),
    }
}

fn failure(id: McpClient, e: &clients::ClientsError) -> ClientFailure {
    ClientFailure {
        client: id.id().to_owned(),
        message: e.to_string(),
    }
}

fn changed_claude(done: &[ClientChange]) -> bool {
    done.iter().any(|c| c.client == McpClient::ClaudeDesktop.id())
}

/// The end of `install` and `uninstall`: the JSON report, Claude Desktop's
/// restart when it was changed and asked for, the exit status.
fn finish(
    json: bool,
    report: &impl serde::Serialize,
    ok: bool,
    claude_changed: bool,
    target: &ClientsArgs,
) -> Result<ExitCode> {
    if json {
        print_json(report)?;
    }
    target.after(claude_changed)?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Whether `pick` (`<client>:<name>`) names this candidate (by its entry's
/// name or the server name it gets).
fn picked(pick: &str, c: &Candidate) -> bool {
    pick.split_once(':')
        .is_some_and(|(client, name)| client == c.client.id() && (name == c.name || name == c.server))
}

pub(super) fn import(args: ImportArgs) -> Result<ExitCode> {
    let platform = args.target.platform()?;
    let found = clients::scan(&platform);
    for problem in &found.problems {
        warn(format!("skipped: {problem}"));
    }
    for pick in &args.pick {
        if pick
            .split_once(':')
            .is_none_or(|(c, n)| McpClient::from_id(c).is_none() || n.is_empty())
        {
            bail!("--pick {pick:?} is not of the form <client>:<name>, e.g. claude-desktop:linear");
        }
    }
    let chosen: Vec<&Candidate> = found
        .candidates
        .iter()
        .filter(|c| args.pick.is_empty() || args.pick.iter().any(|p| picked(p, c)))
        .collect();
    if args.dry_run {
        list_candidates(&chosen, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let paths = paths()?;
    let program = args.target.program()?;
    let runtime = runtime()?;
    let mut report = ImportReport::default();
    let mut claude = false;
    for c in &chosen {
        match runtime.block_on(manage::import(c, &paths, &program)) {
            Ok(path) => {
                say(format!(
                    "Imported {} from {} ({}): it now runs `tether run {}`.",
                    c.name,
                    c.client.name(),
                    path.display(),
                    c.server
                ));
                for flag in &c.options.ignored {
                    warn(format!(
                        "{}: mcp-remote's {flag} has no Tether equivalent and was dropped",
                        c.name
                    ));
                }
                claude |= c.client == McpClient::ClaudeDesktop;
                if !report.imported.contains(&c.server) {
                    report.imported.push(c.server.clone());
                }
            }
            Err(e) => {
                error(format!("{} ({}): {e:#}", c.name, c.client.name()));
                report.errors.push(NamedFailure {
                    name: c.name.clone(),
                    message: tether::text::error_chain(&e),
                });
            }
        }
    }
    for pick in &args.pick {
        if !found.candidates.iter().any(|c| picked(pick, c)) {
            let name = pick.split_once(':').map_or(pick.as_str(), |(_, n)| n);
            let message = format!("no `npx mcp-remote` entry {pick} was found");
            error(&message);
            report.errors.push(NamedFailure {
                name: name.to_owned(),
                message,
            });
        }
    }
    if !args.json && chosen.is_empty() && args.pick.is_empty() {
        say("No `npx mcp-remote` entries found.");
    }
    clients::expire_backups(&platform, clients::BACKUP_MAX_AGE);
    mcp_auth_cache(&platform, args.delete_mcp_auth, &mut report);
    if args.json {
        print_json(&report)?;
    }
    args.target.after(claude)?;
    // With --json the errors are in the answer, for the app to show.
    Ok(if report.errors.is_empty() || args.json {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// After an import: deletes mcp-remote's token cache when asked (unless an
/// import failed: that entry still uses it), else points at it when
/// something was imported (and puts it in the report, for the app's offer).
fn mcp_auth_cache(platform: &Platform, delete: bool, report: &mut ImportReport) {
    let Some(dir) = clients::mcp_auth::find(&platform.home) else {
        if delete {
            say(format!(
                "mcp-remote's token cache ({}) is not there; nothing to delete.",
                platform.home.join(clients::mcp_auth::DIR_NAME).display()
            ));
        }
        return;
    };
    let left = clients::scan(platform).candidates.len();
    if delete && report.errors.is_empty() {
        match clients::mcp_auth::delete(&platform.home) {
            Ok(_) => {
                say(format!(
                    "Deleted mcp-remote's token cache {} (its tokens were in plain text).",
                    dir.display()
                ));
                if left > 0 {
                    warn(format!(
                        "{left} `npx mcp-remote` {} left in your clients will sign in again",
                        if left == 1 { "entry" } else { "entries" }
                    ));
                }
                return;
            }
            Err(e) => {
                error(&e);
                report.errors.push(NamedFailure {
                    name: clients::mcp_auth::DIR_NAME.into(),
                    message: tether::text::error_chain(&e),
                });
            }
        }
    } else if delete {
        warn(format!(
            "mcp-remote's token cache {} was not deleted: an entry that failed to import still uses it",
            dir.display()
        ));
    } else if report.imported.is_empty() {
        return;
    } else {
        let when = match left {
            0 => "now".to_owned(),
            1 => "once the `npx mcp-remote` entry left is imported or removed".to_owned(),
            n => format!("once the {n} `npx mcp-remote` entries left are imported or removed"),
        };
        say(format!(
            "mcp-remote's token cache is still at {}, with its tokens in plain text; Tether does not use it. Delete it {when}: `tether import --delete-mcp-auth`.",
            dir.display()
        ));
    }
    report.mcp_auth_cache = Some(dir.display().to_string());
}

/// `import --dry-run`: what would be imported.
fn list_candidates(chosen: &[&Candidate], json: bool) -> Result<()> {
    if json {
        let rows: Vec<ImportCandidate> = chosen.iter().map(|c| ImportCandidate::from(*c)).collect();
        return print_json(&rows);
    }
    if chosen.is_empty() {
        print("No `npx mcp-remote` entries found.");
    }
    for c in chosen {
        let secret = match (&c.token_header, c.has_secret()) {
            (Some(h), _) => format!(", its {h} token moves to the keychain"),
            (None, true) => ", its client secret moves to the keychain".into(),
            _ => String::new(),
        };
        print(format!(
            "{}: {} → tether server {} ({}{secret})",
            c.client.name(),
            c.name,
            c.server,
            c.url
        ));
        if let Some(p) = &c.problem {
            print(format!("  cannot be imported: {p}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_picks_read_client_and_name() {
        let c = Candidate {
            client: McpClient::ClaudeDesktop,
            file: "/x.json".into(),
            name: "My Docs".into(),
            server: "My-Docs".into(),
            url: "https://d.example/mcp".into(),
            headers: Vec::new(),
            token_header: None,
            token: None,
            extra_headers: Vec::new(),
            secret_env: Vec::new(),
            options: Default::default(),
            problem: None,
        };
        assert!(picked("claude-desktop:My Docs", &c));
        assert!(picked("claude-desktop:My-Docs", &c));
        assert!(!picked("cursor:My Docs", &c));
        assert!(!picked("claude-desktop", &c));
        let platform = Platform::new(clients::Os::Linux, "/nonexistent".into(), []);
        assert!(clients::find_mcp_remote(&platform).is_empty());
    }
}
