//! Defines the command line and turns it into calls into the library.
//!
//! One file per group of commands: [`run`] (the bridge Claude Desktop
//! launches), [`sign_in`] (`add`, `remove`, `login`, `logout`,
//! `client-metadata`, and the hidden `sign-in-broker` a bridge starts),
//! [`status`], [`token`], [`clients`] (`install`, `uninstall`, `import`)
//! and [`doctor`]; what they say goes through [`messages`]. Each
//! command reads its flags once into the library's types (for `run`, a
//! [`run::RunPlan`]), calls the library, and prints.
//!
//! Conventions:
//! - Flags follow mcp-remote where they overlap (`--header`,
//!   `--header-file`, `--allow-http`, `--transport`, `--debug`, `--silent`,
//!   the optional positional callback port, `--static-oauth-client-info`,
//!   `--static-oauth-client-metadata`, `--client-metadata-url`,
//!   `--resource`, `--auth-timeout`), so a Claude Desktop entry moves from
//!   `npx mcp-remote <url> …` to `tether run <url> …` by changing the
//!   command. A server's settings are declared once ([`SettingsArgs`],
//!   [`ConnectionArgs`]) and shared by `run`, `login` and `add`.
//! - The sign-in commands follow `gh auth`: `login` opens the browser and
//!   prints the URL, `status` masks tokens, `logout` revokes.
//! - Exit codes: 0 for success, 1 for a failure, 2 for a usage error
//!   (clap); `doctor` 1 for warnings and 2 for errors.
//! - stdout carries JSON-RPC for `run`, and results for the other commands;
//!   messages go to stderr. With `--json`, a failure is a JSON `Failure` on
//!   stdout too (`tether::contract`), for the app.

mod clients;
mod doctor;
mod messages;
mod run;
mod sign_in;
mod status;
mod token;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use tether::clients::McpClient;
use tether::config::TransportMode;
use tether::logging::{self, LogOptions};
use tether::paths::Paths;
use tracing::level_filters::LevelFilter;

#[derive(Parser)]
#[command(
    name = "tether",
    version,
    about = "Puts remote MCP servers into Claude Desktop: a stdio bridge with OAuth sign-in and tokens in the OS keychain",
    after_help = "Claude Desktop entry (claude_desktop_config.json):\n  \"linear\": { \"command\": \"/path/to/tether\", \"args\": [\"run\", \"linear\"] }\nafter `tether add linear https://mcp.linear.app/mcp` (and `tether login linear`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bridge stdio (as Claude Desktop launches it) to a remote MCP server.
    Run(run::RunArgs),
    /// Add a server by name, so Claude's entry is just `tether run <name>`.
    Add(sign_in::AddArgs),
    /// Remove a server: sign out and forget it.
    Remove(sign_in::NameArgs),
    /// Sign in to a server now (opens the browser).
    Login(sign_in::LoginArgs),
    /// Sign out of a server: revoke its tokens and remove them from the keychain.
    Logout(sign_in::NameArgs),
    /// Show the servers, their sign-in and where tokens are kept (masked).
    Status(status::StatusArgs),
    /// Print a fresh access token (or the header that carries it) for
    /// scripts and MCP clients that speak HTTP themselves; refreshes it when
    /// needed, never prints a refresh token, never opens a browser unless
    /// --sign-in.
    Token(token::TokenArgs),
    /// Runs one sign-in in the browser for a bridge, detached from it.
    #[command(hide = true)]
    SignInBroker(sign_in::BrokerArgs),
    /// Print the Client ID Metadata Document, to host it yourself.
    ClientMetadata(sign_in::ClientMetadataArgs),
    /// Say why a server's connection or sign-in fails, and how to fix it.
    Doctor(doctor::DoctorArgs),
    /// Add a server's entry (`tether run <name>`) to MCP clients' configs.
    Install(clients::InstallArgs),
    /// Remove a server's entry from MCP clients' configs.
    Uninstall(clients::UninstallArgs),
    /// Turn the `npx mcp-remote <url>` entries of MCP clients into Tether
    /// entries, moving their tokens into the keychain.
    Import(clients::ImportArgs),
}

impl Command {
    /// Whether the person asked for `--json`.
    fn json(&self) -> bool {
        match self {
            Self::Run(_) | Self::ClientMetadata(_) | Self::Token(_) | Self::SignInBroker(_) => false,
            Self::Add(a) => a.json,
            Self::Remove(a) | Self::Logout(a) => a.json,
            Self::Login(a) => a.json,
            Self::Status(a) => a.json,
            Self::Doctor(a) => a.is_json(),
            Self::Install(a) => a.json,
            Self::Uninstall(a) => a.json,
            Self::Import(a) => a.json,
        }
    }
}

/// A server's OAuth settings, as `run`, `login` and `add` take them.
#[derive(Args, Clone, Default)]
struct SettingsArgs {
    /// A pre-registered OAuth client id.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,

    /// The environment variable holding the pre-registered client's secret
    /// (secrets never go on the command line).
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,

    /// The URL of a Client ID Metadata Document to use as the client id
    /// where the authorization server supports it (`tether client-metadata`
    /// prints one).
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,

    /// The resource indicator (RFC 8707) to send instead of the discovered one.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,

    /// The scopes to ask for, space-separated, instead of the discovered ones.
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
}

/// How a server is reached, as `run` and `add` take it.
#[derive(Args, Clone, Default)]
struct ConnectionArgs {
    /// A header for every request to the server: 'Name: value'. Repeatable.
    /// ${VAR} is replaced from the environment (at run time), so secrets can
    /// live in the entry's "env" instead of its "args".
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Which transport to use, and in which order.
    #[arg(long, value_enum)]
    transport: Option<TransportMode>,

    /// Allow plain http:// to hosts other than this computer.
    #[arg(long)]
    allow_http: bool,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(with_run_implied(std::env::args_os()));
    let json = cli.command.json();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Add(args) => quiet(|| sign_in::add(args)),
        Command::Remove(args) => quiet(|| sign_in::remove(args)),
        Command::Login(args) => quiet(|| sign_in::login(args)),
        Command::Logout(args) => quiet(|| sign_in::logout(args)),
        Command::Status(args) => status::status(args),
        Command::Token(args) => token::token(args),
        Command::SignInBroker(args) => sign_in::broker(args),
        Command::ClientMetadata(args) => sign_in::client_metadata(args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Install(args) => quiet(|| clients::install(args)),
        Command::Uninstall(args) => quiet(|| clients::uninstall(args)),
        Command::Import(args) => quiet(|| clients::import(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            messages::failed(&e, json);
            ExitCode::from(1)
        }
    }
}

/// Commands a person runs log only what matters, on stderr.
fn quiet(f: impl FnOnce() -> Result<ExitCode>) -> Result<ExitCode> {
    logging::init(&LogOptions {
        stderr: Some(LevelFilter::INFO),
        file: None,
    });
    f()
}

/// `tether https://…` means `tether run https://…`, as `mcp-remote <url>` did.
fn with_run_implied(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.collect();
    if args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(tether::servers::is_url)
    {
        args.insert(1, "run".into());
    }
    args
}

fn paths() -> Result<Paths> {
    Paths::from_env().context("cannot find a home directory for Tether's files; set TETHER_HOME")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn parse_client(id: &str) -> Result<McpClient, String> {
    McpClient::from_id(id).ok_or_else(|| {
        let ids: Vec<&str> = McpClient::ALL.iter().map(|c| c.id()).collect();
        format!("{id:?} is not a client Tether knows; use one of {}", ids.join(", "))
    })
}

/// The environment, as the library reads it.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_as_first_argument_means_run() {
        let args = with_run_implied(
            ["tether", "https://x.example/mcp", "--debug"]
                .map(OsString::from)
                .into_iter(),
        );
        assert_eq!(
            args,
            ["tether", "run", "https://x.example/mcp", "--debug"].map(OsString::from)
        );
        let args = with_run_implied(["tether", "run", "https://x"].map(OsString::from).into_iter());
        assert_eq!(args.len(), 3);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn mcp_remote_style_arguments_parse() {
        let cli = Cli::try_parse_from([
            "tether",
            "run",
            "https://x.example/sse",
            "3334",
            "--header",
            "A: b",
            "--header",
            "C:d",
            "--transport",
            "sse-only",
            "--debug",
            "--silent",
            "--allow-http",
            "--enable-proxy",
            "--static-oauth-client-metadata",
            "{\"scope\":\"x\"}",
            "--resource",
            "https://x.example/",
            "--auth-timeout",
            "60",
        ])
        .unwrap();
        let Command::Run(a) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(a.callback_port, Some(3334));
        assert_eq!(a.connection.headers, ["A: b", "C:d"]);
        assert_eq!(a.connection.transport, Some(TransportMode::SseOnly));
        assert!(a.debug && a.silent && a.connection.allow_http);
        assert_eq!(a.oauth.auth_timeout, 60);
        assert_eq!(a.oauth.settings.resource.as_deref(), Some("https://x.example/"));
    }

    #[test]
    fn install_takes_clients_by_id_and_defaults_to_claude_desktop() {
        let cli =
            Cli::try_parse_from(["tether", "install", "linear", "--client", "zed", "--client", "vscode"]).unwrap();
        let Command::Install(a) = cli.command else {
            panic!("install expected")
        };
        assert_eq!(a.clients, [McpClient::Zed, McpClient::VsCode]);
        let e = Cli::try_parse_from(["tether", "install", "linear", "--client", "emacs"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a client Tether knows"), "{e}");
        assert!(Cli::try_parse_from(["tether", "install", "linear", "--all", "--client", "zed"]).is_err());
    }

    #[test]
    fn the_app_s_sidecar_commands_parse() {
        // Every argument list the app renders is one this command line takes.
        use tether::contract::{AddServer, Pick, SidecarCommand};
        use tether::servers::AuthKind;
        let commands = [
            SidecarCommand::Add(AddServer {
                name: "corp".into(),
                url: "https://corp.example/mcp".into(),
                auth: AuthKind::Bearer,
                token_header: Some("X-Api-Key".into()),
                token: None,
            }),
            SidecarCommand::Remove { name: "corp".into() },
            SidecarCommand::Login { name: "corp".into() },
            SidecarCommand::Logout { name: "corp".into() },
            SidecarCommand::ImportCandidates { home: "/h".into() },
            SidecarCommand::Import {
                home: "/h".into(),
                picks: vec![Pick {
                    client: "cursor".into(),
                    name: "My Docs".into(),
                }],
            },
            SidecarCommand::Doctor {
                target: "https://x.example/mcp".into(),
            },
        ];
        for c in commands {
            let mut argv = vec![OsString::from("tether")];
            argv.extend(c.argv());
            let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert!(cli.command.json(), "{argv:?} answers in JSON");
        }
    }
}
